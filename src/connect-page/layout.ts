import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { Html, html } from './html.js';

export interface Brand {
  name: string;
  logoUrl?: string | undefined;
  /** `#rgb` or `#rrggbb`, checked when the configuration is read. */
  color: string;
}

/**
 * One small stylesheet, inline under a nonce (no CDN, no other origin): readable from 390 px wide
 * up, visible focus, the accent colour only where contrast with white text holds for buttons.
 */
/** Raw CSS: the only value in it, the colour, matched #rgb/#rrggbb when the configuration was read. */
function styles(brand: Brand): string {
  return `
:root{--accent:${brand.color};}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#f4f5f7}
main{max-width:34rem;margin:0 auto;padding:1.25rem 1rem 3rem}
header{display:flex;align-items:center;gap:.75rem;margin-bottom:1rem}
header img{max-height:40px;max-width:160px}
header .name{font-weight:600;font-size:1.1rem}
.card{background:#fff;border-radius:10px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 .75rem}
h2{font-size:1.1rem;margin:.5rem 0}
fieldset{border:1px solid #d0d4da;border-radius:8px;margin:0 0 1rem;padding:.75rem}
legend{font-weight:600;padding:0 .25rem}
label{display:block;margin:.35rem 0}
.choice{display:flex;gap:.5rem;align-items:flex-start}
.choice input{margin-top:.35rem}
input[type=text],input[type=url],input[type=password],select{width:100%;padding:.6rem;font:inherit;border:1px solid #8a9099;border-radius:6px}
input:focus,select:focus,a:focus,button:focus{outline:3px solid var(--accent);outline-offset:2px}
.hint{color:#4a4f57;font-size:.9rem;margin:.15rem 0 .5rem}
.field-error{color:#a4000f;font-size:.9rem;margin:.25rem 0}
.errors{border:2px solid #a4000f;border-radius:8px;padding:.75rem;margin-bottom:1rem;background:#fff5f5}
.ok{border-left:4px solid #2e7d32;padding-left:.75rem}
button,.button{display:inline-block;width:100%;padding:.75rem 1rem;font:inherit;font-weight:600;color:#fff;background:var(--accent);border:0;border-radius:6px;text-align:center;text-decoration:none;cursor:pointer}
.secondary{background:#fff;color:#1b1b1b;border:1px solid #8a9099}
ol li{margin:.35rem 0}
code{word-break:break-all}
`;
}

/** The page, with headers that keep it to itself: no script, no frame, no other origin but the logo's. */
export function sendPage(res: Response, brand: Brand, title: string, body: Html, status = 200): void {
  const nonce = randomBytes(16).toString('base64');
  // `data:` for the empty icon below: without one the browser asks for /favicon.ico.
  const img = brand.logoUrl ? `data: ${new URL(brand.logoUrl).origin}` : 'data:';
  // No form-action: the start form's answer redirects to the login URL the user just typed (a My
  // Domain), and browsers hold redirects after a form post to form-action too.
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; img-src ${img}; base-uri 'none'; frame-ancestors 'none'`);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · ${brand.name}</title>
        <style nonce="${nonce}">
          ${new Html(styles(brand))}
        </style>
      </head>
      <body>
        <main>
          <header>${brand.logoUrl ? html`<img src="${brand.logoUrl}" alt="${brand.name}" />` : ''}<span class="name">${brand.name}</span></header>
          <div class="card">${body}</div>
        </main>
      </body>
    </html>`;
  res.status(status).type('html').send(page.value);
}
