import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@dbconn/source'] },
  ssr: { resolve: { conditions: ['@dbconn/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
