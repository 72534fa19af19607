// The smallest program that holds a network namespace open: a static ELF that sleeps in a loop until it is
// killed, like Kubernetes' pause container. Berth ships no image and cannot pull one, so it writes these bytes
// into an image of its own (metadata-sink.ts); nothing here runs on the host.

/** Machine code of `for (;;) pause-until-signal;` per Docker architecture name (`docker version` Arch). */
const CODE: Record<string, { machine: number; code: Buffer }> = {
  // mov eax, 34 (pause); syscall; jmp back to the mov
  amd64: { machine: 0x3e, code: Buffer.from("b8220000000f05ebf7", "hex") },
  // mov x0..x3, #0; mov x8, #73 (ppoll with no fds and no timeout); svc #0; b back to the first mov
  arm64: {
    machine: 0xb7,
    code: Buffer.concat(
      [0xd2800000, 0xd2800001, 0xd2800002, 0xd2800003, 0xd2800928, 0xd4000001, 0x17fffffa].map((word) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(word);
        return b;
      }),
    ),
  },
};

const HEADER = 64;
const PROGRAM_HEADER = 56;
const BASE = 0x400000;

/** The pause program for `arch`, or undefined when Berth has none for it. */
export function pauseBinary(arch: string): Buffer | undefined {
  const target = CODE[arch];
  if (!target) return undefined;
  const size = HEADER + PROGRAM_HEADER + target.code.length;
  const elf = Buffer.alloc(size);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(elf, 0); // ELF, 64-bit, little endian, version 1, System V
  elf.writeUInt16LE(2, 16); // executable
  elf.writeUInt16LE(target.machine, 18);
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(BASE + HEADER + PROGRAM_HEADER), 24); // entry: the code right after the headers
  elf.writeBigUInt64LE(BigInt(HEADER), 32); // program headers follow the ELF header
  elf.writeUInt16LE(HEADER, 52);
  elf.writeUInt16LE(PROGRAM_HEADER, 54);
  elf.writeUInt16LE(1, 56);
  const ph = HEADER;
  elf.writeUInt32LE(1, ph); // PT_LOAD of the whole file
  elf.writeUInt32LE(5, ph + 4); // readable, executable
  elf.writeBigUInt64LE(BigInt(BASE), ph + 16);
  elf.writeBigUInt64LE(BigInt(BASE), ph + 24);
  elf.writeBigUInt64LE(BigInt(size), ph + 32);
  elf.writeBigUInt64LE(BigInt(size), ph + 40);
  elf.writeBigUInt64LE(0x1000n, ph + 48);
  target.code.copy(elf, HEADER + PROGRAM_HEADER);
  return elf;
}
