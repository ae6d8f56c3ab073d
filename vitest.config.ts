import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests beside the code (no database), and API tests
// that drive the real app against a real Postgres started once per run.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'fhir-profiles/**/*.test.ts'] } },
      {
        test: {
          name: 'api',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
