import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';

describe('/docs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers an HTML page whose every asset is served here, and tells the browser to load nothing else', async () => {
    const page = await http(h, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'/);
    const html = page.body as string;
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/init.js']));
    for (const asset of assets) {
      expect(asset.startsWith('/') && !asset.startsWith('//'), asset).toBe(true);
      const res = await fetch(`${h.url}${asset}`);
      await res.arrayBuffer(); // read it all, so the server can close the connection
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-type'), asset).toMatch(
        /^(text\/css|text\/javascript|application\/javascript|image\/png)/,
      );
    }
  });

  it('points Swagger UI at /openapi.json with the online validator off', async () => {
    const init = await http(h, 'GET', '/docs/init.js');
    expect(init.body).toContain("url: '/openapi.json'");
    expect(init.body).toContain('validatorUrl: null');
  });

  it('serves only the files of swagger-ui-dist the page needs', async () => {
    for (const path of [
      '/docs/assets/index.html',
      '/docs/assets/swagger-initializer.js',
      '/docs/assets/../package.json',
    ]) {
      expect((await http(h, 'GET', path)).status, path).toBe(404);
    }
  });
});
