/// <reference types="svelte" />
/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_PLATFORM_JSON_URL?: string;
  readonly VITE_NETWORK?: string;
  readonly VITE_STAKING_HUB_ID?: string;
  readonly VITE_FRONTEND_ID?: string;
  readonly VITE_AGENT_HOST?: string;
  readonly VITE_II_URL?: string;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}
