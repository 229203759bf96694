// Whether fromPretrained runs in a web page. Node's build says no: a model source is a
// folder or a hub id downloaded into the huggingface_hub cache on disk. The browser bundle
// swaps in host.browser.ts (scripts/build-browser.mjs), as it does for the wasm backend's
// platform module, so each build decides at bundle time and carries only its own path.
export const IN_PAGE: boolean = false;
