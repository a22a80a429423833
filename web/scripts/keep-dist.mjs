// Vite empties dist/ on every build; the Go embed directive needs the
// directory to exist in a fresh clone, so a tracked placeholder is put back.
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/.keep", import.meta.url), "");
