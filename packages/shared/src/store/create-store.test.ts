import { describe, expect, it } from 'vitest';
import { createStore } from './index.js';

describe('createStore', () => {
  it('picks MongoDB for a seed list with ports, which is no WHATWG URL', async () => {
    const store = await createStore('mongodb://127.0.0.1:1,127.0.0.1:2/dbconn?serverSelectionTimeoutMS=100');
    try {
      expect(store.kind).toBe('mongodb');
    } finally {
      await store.close();
    }
  });

  it('names STORE_URL for a scheme it does not support', async () => {
    await expect(createStore('mysql://127.0.0.1/x')).rejects.toThrow(
      /STORE_URL scheme mysql: is not supported/,
    );
  });
});
