// What each instance_size_slug means on a Berth runtime: a CPU and memory limit (Docker) or request and
// limit (Kubernetes). The figures are App Platform's published sizes; docs/app-spec.md shows the same table.
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface InstanceSize {
  memoryBytes: number;
  cpus: number;
}

export const INSTANCE_SIZES = {
  "apps-s-1vcpu-0.5gb": { cpus: 1, memoryBytes: 512 * MiB },
  "apps-s-1vcpu-1gb-fixed": { cpus: 1, memoryBytes: 1 * GiB },
  "apps-s-1vcpu-1gb": { cpus: 1, memoryBytes: 1 * GiB },
  "apps-s-1vcpu-2gb": { cpus: 1, memoryBytes: 2 * GiB },
  "apps-s-2vcpu-4gb": { cpus: 2, memoryBytes: 4 * GiB },
  "apps-d-1vcpu-0.5gb": { cpus: 1, memoryBytes: 512 * MiB },
  "apps-d-1vcpu-1gb": { cpus: 1, memoryBytes: 1 * GiB },
  "apps-d-1vcpu-2gb": { cpus: 1, memoryBytes: 2 * GiB },
  "apps-d-1vcpu-4gb": { cpus: 1, memoryBytes: 4 * GiB },
  "apps-d-2vcpu-4gb": { cpus: 2, memoryBytes: 4 * GiB },
  "apps-d-2vcpu-8gb": { cpus: 2, memoryBytes: 8 * GiB },
  "apps-d-4vcpu-8gb": { cpus: 4, memoryBytes: 8 * GiB },
  "apps-d-4vcpu-16gb": { cpus: 4, memoryBytes: 16 * GiB },
  "apps-d-8vcpu-32gb": { cpus: 8, memoryBytes: 32 * GiB },
} as const satisfies Record<string, InstanceSize>;

/** Deprecated slugs App Platform still accepts; Berth accepts them with a warning naming the replacement. */
export const LEGACY_INSTANCE_SIZES = {
  "basic-xxs": { cpus: 1, memoryBytes: 512 * MiB, replacement: "apps-s-1vcpu-0.5gb" },
  "basic-xs": { cpus: 1, memoryBytes: 1 * GiB, replacement: "apps-s-1vcpu-1gb" },
  "basic-s": { cpus: 1, memoryBytes: 2 * GiB, replacement: "apps-s-1vcpu-2gb" },
  "basic-m": { cpus: 2, memoryBytes: 4 * GiB, replacement: "apps-s-2vcpu-4gb" },
  "professional-xs": { cpus: 1, memoryBytes: 1 * GiB, replacement: "apps-d-1vcpu-1gb" },
  "professional-s": { cpus: 1, memoryBytes: 2 * GiB, replacement: "apps-d-1vcpu-2gb" },
  "professional-m": { cpus: 2, memoryBytes: 4 * GiB, replacement: "apps-d-2vcpu-4gb" },
  "professional-1l": { cpus: 1, memoryBytes: 4 * GiB, replacement: "apps-d-1vcpu-4gb" },
  "professional-l": { cpus: 4, memoryBytes: 8 * GiB, replacement: "apps-d-4vcpu-8gb" },
  "professional-xl": { cpus: 8, memoryBytes: 16 * GiB, replacement: "apps-d-4vcpu-16gb" },
} as const satisfies Record<string, InstanceSize & { replacement: string }>;

type Slug = keyof typeof INSTANCE_SIZES | keyof typeof LEGACY_INSTANCE_SIZES;
export const ALL_INSTANCE_SIZE_SLUGS = [
  ...Object.keys(INSTANCE_SIZES),
  ...Object.keys(LEGACY_INSTANCE_SIZES),
] as [Slug, ...Slug[]];

/** CPU and memory for an instance size slug (current or legacy). Throws on a slug not in the table. */
export function instanceSize(slug: string): InstanceSize {
  const size: InstanceSize | undefined =
    (INSTANCE_SIZES as Record<string, InstanceSize>)[slug] ?? (LEGACY_INSTANCE_SIZES as Record<string, InstanceSize>)[slug];
  if (!Object.hasOwn(INSTANCE_SIZES, slug) && !Object.hasOwn(LEGACY_INSTANCE_SIZES, slug) || !size) {
    throw new Error(`unknown instance_size_slug "${slug}"; expected one of ${ALL_INSTANCE_SIZE_SLUGS.join(", ")}`);
  }
  return { memoryBytes: size.memoryBytes, cpus: size.cpus };
}
