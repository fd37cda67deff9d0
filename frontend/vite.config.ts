/// <reference types="vitest/config" />
import { defineConfig, loadEnv } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// LOCALNET_URL (e.g. http://127.0.0.1:4943), when set, makes `vite dev` and `vite preview` proxy
// the IC HTTP interface (/api) to the local network, so the agent's default host (the page's
// origin) works there as it does behind the local HTTP gateway.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, '.', '');
  const localnet = env.LOCALNET_URL;
  const proxy = localnet ? { '/api': { target: localnet, changeOrigin: true } } : undefined;
  return {
    base: '/',
    plugins: [svelte()],
    build: {
      outDir: 'dist',
      assetsDir: 'assets',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      rollupOptions: {
        output: {
          entryFileNames: 'assets/[name]-[hash].js',
          chunkFileNames: 'assets/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]',
        },
      },
    },
    server: { proxy },
    preview: { proxy },
    test: {
      include: ['src/**/*.test.ts'],
      environment: 'node',
    },
  };
});
