import { z } from 'zod';

/** A mapping's name: it appears in URLs and in subscriptions. */
export const MappingNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (up to 64, starting with a letter or digit)');

/** A label of a mapping: the SaaS's own name for a value (`email`, `dealSize`), mapped to a field of the org. */
export const MappingLabelSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (up to 64, starting with a letter)');
