// The browser bundle's host.ts (swapped in by scripts/build-browser.mjs): fromPretrained
// fetches hub ids into the Cache API (pageLoaders.ts), since a page has no file system.
export const IN_PAGE: boolean = true;
