// Generates the client code from the aggregator's own .proto files with buf + protoc-gen-es:
// the querier API (aggregator/src/main/proto) imports the profile module's pprof.proto, so both
// trees are copied into one buf module first (buf modules cannot reach outside), inside
// node_modules so that the launcher's build check never takes the copies for build inputs.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..", "..", "..");
const proto = join(here, "node_modules", ".querier-proto");
rmSync(proto, { recursive: true, force: true });
rmSync(join(here, "gen"), { recursive: true, force: true });
mkdirSync(proto, { recursive: true });
cpSync(join(repo, "aggregator", "src", "main", "proto"), proto, { recursive: true });
cpSync(join(repo, "profile", "src", "main", "proto"), proto, { recursive: true });
writeFileSync(join(proto, "buf.yaml"), "version: v2\n");
execFileSync(join(here, "node_modules", ".bin", "buf"), ["generate", proto, "--template", join(here, "buf.gen.yaml")],
    { cwd: here, stdio: "inherit" });
