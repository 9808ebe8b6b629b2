import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARIABLES, loadConfig } from './config.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('config', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.api.port).toBe(8080);
    expect(config.store.url).toMatch(/^mongodb:/);
    expect(config.secrets.usingDevelopmentKey).toBe(true);
    expect(config.verify.timeoutMs).toBe(10_000);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ API_PORT: 'eighty', STORE_URL: 'mysql://x', EGRESS_MODE: 'loose' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('API_PORT');
      expect(message).toContain('STORE_URL');
      expect(message).toContain('EGRESS_MODE');
    }
  });

  it('refuses to start in production without a master key', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/MASTER_KEYS/);
    const config = loadConfig({ NODE_ENV: 'production', MASTER_KEYS: `1:${KEY}` });
    expect(config.secrets.usingDevelopmentKey).toBe(false);
  });

  it('parses several master key versions and rejects short keys', () => {
    const config = loadConfig({ MASTER_KEYS: `1:${KEY}, 2:${Buffer.alloc(48, 1).toString('base64')}` });
    expect([...config.secrets.keys.keys()]).toEqual([1, 2]);
    expect(() => loadConfig({ MASTER_KEYS: `1:${Buffer.alloc(16).toString('base64')}` })).toThrow(
      /MASTER_KEYS/,
    );
    expect(() => loadConfig({ MASTER_KEYS: 'just-a-string' })).toThrow(/MASTER_KEYS/);
  });

  it('splits egress lists', () => {
    const config = loadConfig({ EGRESS_ALLOW: '10.0.0.0/8, db.internal ,', EGRESS_MODE: 'strict' });
    expect(config.egress).toEqual({ mode: 'strict', allow: ['10.0.0.0/8', 'db.internal'], deny: [] });
  });

  it('lists its variables', () => {
    expect(ENV_VARIABLES).toContain('STORE_URL');
    expect(ENV_VARIABLES).toContain('MASTER_KEYS');
  });
});
