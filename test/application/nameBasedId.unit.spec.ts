import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { nameBasedId } from '../../src/application/execution.js';

// Event and user ids derived by earlier versions (from strings) must come out the same:
// a command retried across an upgrade is recognised by them.
describe('name-based ids', () => {
  it.each([
    'c0a8012e-7f3d-4b8e-9d61-0c2a7e5b4f10/identity-github-12345/-1/0',
    'c0a8012e-7f3d-4b8e-9d61-0c2a7e5b4f10/user',
    'c0a8012e/identity-google-Ünïcödé-子/3/1',
  ])('are those the uuid package derives from the name as a string: %s', (name) => {
    expect(nameBasedId(name)).toBe(uuidv5(name, '6f1d2c9e-3a54-4b8e-9d61-0c2a7e5b4f10'));
  });

  it('differ from name to name', () => {
    expect(nameBasedId('a/1')).not.toBe(nameBasedId('a/2'));
  });
});
