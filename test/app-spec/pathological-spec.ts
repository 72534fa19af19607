// A spec of about `bytes` bytes with three problems in every component (an invalid name, a negative count, a
// port out of range): what an unapproved fork can push to make Berth parse, place and report as much as it can.
export function pathologicalSpec(bytes: number): string {
  const lines = ["name: Bad_Name", "services:"];
  let size = 26;
  for (let i = 0; size < bytes; i++) {
    const block = [`  - name: BAD_${i}`, "    instance_count: -1", "    http_port: 99999"];
    lines.push(...block);
    size += block.join("\n").length + 1;
  }
  return `${lines.join("\n")}\n`;
}
