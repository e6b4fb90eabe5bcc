/** Warden's version, read from the package manifest (the same file from src/ and from dist/). */
import { createRequire } from 'node:module';

const manifest = createRequire(import.meta.url)('../package.json') as { version: string };

export const version: string = manifest.version;
