import { z } from 'zod';

/**
 * A list setting as the environment gives it (`a, b,c`) or as config gives it (an array):
 * trimmed, empties dropped, then each item checked by `item`.
 */
export function commaList<T extends z.ZodType<unknown, string>>(item: z.ZodArray<T>) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : splitList(v)))
    .pipe(item);
}

export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
