// The holder's pause program is machine code Berth writes itself, so it is run for real: natively on this
// machine's architecture, and the other one under qemu-user when Debian's qemu-user-static is installed.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pauseBinary } from "../../../src/runtime/docker/pause-binary.js";

const dir = mkdtempSync(join(tmpdir(), "berth-pause-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const native = arch() === "x64" ? "amd64" : arch() === "arm64" ? "arm64" : undefined;
const other = native === "amd64" ? "arm64" : "amd64";
const qemu = other === "arm64" ? "qemu-aarch64-static" : "qemu-x86_64-static";
const hasQemu = spawnSync("sh", ["-c", `command -v ${qemu}`]).status === 0;
if (!hasQemu) console.log(`pause-binary: ${qemu} absent (apt-get install qemu-user-static), the ${other} program is not run`);

/** Runs the program until it is blocked in the kernel (state S), then stops it with SIGTERM. */
async function runs(program: string, wrapper?: string): Promise<{ state: string; signal: NodeJS.Signals | null }> {
  const child = wrapper ? spawn(wrapper, [program]) : spawn(program);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  let state = "";
  for (let i = 0; i < 500 && state !== "S"; i++) {
    await new Promise((r) => setTimeout(r, 10));
    state = readFileSync(`/proc/${child.pid}/stat`, "utf8").replace(/^.*\) /, "")[0] ?? "";
  }
  child.kill("SIGTERM");
  return { state, signal: await exited };
}

describe("the holder's pause program", () => {
  it("is a static ELF executable for each architecture Berth supports, and none for others", () => {
    for (const [name, machine] of [["amd64", 0x3e], ["arm64", 0xb7]] as const) {
      const elf = pauseBinary(name)!;
      expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(elf.readUInt16LE(18)).toBe(machine);
      expect(elf.length).toBeLessThan(200);
    }
    expect(pauseBinary("s390x")).toBeUndefined();
  });

  it.skipIf(!native)("sleeps in the kernel until it is signalled, on this machine", async () => {
    const program = join(dir, "pause-native");
    writeFileSync(program, pauseBinary(native!)!, { mode: 0o755 });
    expect(await runs(program)).toEqual({ state: "S", signal: "SIGTERM" });
  });

  it.skipIf(!native || !hasQemu)("sleeps in the kernel until it is signalled, on the other architecture (qemu-user)", async () => {
    const program = join(dir, "pause-other");
    writeFileSync(program, pauseBinary(other)!, { mode: 0o755 });
    expect(await runs(program, qemu)).toEqual({ state: "S", signal: "SIGTERM" });
  });
});
