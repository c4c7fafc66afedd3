import { describe, expect, it } from 'vitest';
import { idSuffix } from '../events/salesforce-id.js';
import { normalizeId, to18 } from './ids.js';

describe('record ids', () => {
  it('computes the case-safe suffix of recorded real ids', () => {
    for (const id of ['001dM00003jU9GxQAK', 'a00B000000FSkcvIAD', '0051t000001pGyuAAE', '00DdM00000vfgTuUAI', '005dM00000awSFJQA2', '003dM00001wBXYDQA4']) {
      expect(idSuffix(id.slice(0, 15))).toBe(id.slice(15));
      expect(to18(id.slice(0, 15))).toBe(id);
    }
  });

  it('rejects the recorded MALFORMED_ID id, whose suffix is wrong', () => {
    expect(normalizeId('a00B000000FSjVUIB1')).toBeUndefined();
    expect(normalizeId('a00B000000FSjVU')).toBe('a00B000000FSjVUIA1');
    expect(normalizeId('23foo')).toBeUndefined();
  });
});
