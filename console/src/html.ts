import htm from 'htm';
import { h, type VNode } from 'preact';
import type { ApiError } from './api.js';

/** JSX-like templates without a compile step: `html\`<p>${x}</p>\``. */
export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;

export interface PageProps {
  canWrite: boolean;
  arg: string | undefined;
}

/** Shown on every change button a read key may not use. */
export const READ_ONLY = 'your key has the read scope only';

export function errorText(err: unknown): string {
  const e = err as ApiError;
  return e.status ? `${e.status}: ${e.message}` : String((err as Error).message ?? err);
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

/** A button that changes something: refused (disabled, with the reason) for a read key. */
export function ChangeButton(props: {
  canWrite: boolean;
  onClick?: () => void;
  label: string;
  busy?: boolean;
  danger?: boolean;
  name?: string;
  submit?: boolean;
}) {
  return html`<button
    type=${props.submit ? 'submit' : 'button'}
    class=${props.danger ? 'danger' : ''}
    data-change="true"
    data-name=${props.name ?? props.label}
    disabled=${!props.canWrite || props.busy}
    title=${props.canWrite ? undefined : READ_ONLY}
    onClick=${props.onClick}
  >
    ${props.label}
  </button>`;
}
