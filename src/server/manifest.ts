// The GitHub App manifest Berth offers in setup mode, and the one rule GitHub holds it to that a laptop breaks:
// the webhook URL must be reachable from the internet. A loopback, private or `.local` address never is, so
// Berth offers a webhook proxy channel in its place instead of a manifest GitHub refuses.
import { BlockList, isIP } from "node:net";

const PRIVATE = new BlockList();
for (const [net, bits] of [["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12], ["192.168.0.0", 16]] as const) {
  PRIVATE.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10]] as const) PRIVATE.addSubnet(net, bits, "ipv6");

const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

/** Whether GitHub could reach this URL: http(s), a host name with a dot or a public address, nothing local. */
export function isPublicUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return false;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(host);
  if (family === 4) return !PRIVATE.check(host, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped ? !PRIVATE.check(mapped[1]!, "ipv4") : !PRIVATE.check(host, "ipv6");
  }
  if (host === "localhost" || !host.includes(".")) return false;
  return !LOCAL_SUFFIXES.some((s) => host.endsWith(s));
}

export interface HookSources {
  /** BERTH_URL (or the local default). */
  berthUrl: string;
  webhookProxyUrl?: string;
}

/** Where GitHub should deliver webhooks: Berth itself when public, else the proxy channel; undefined when neither. */
export function webhookUrlFor(sources: HookSources): string | undefined {
  if (sources.webhookProxyUrl) return sources.webhookProxyUrl;
  if (isPublicUrl(sources.berthUrl)) return `${sources.berthUrl.replace(/\/+$/, "")}/api/github/webhooks`;
  return undefined;
}

export interface ManifestOptions {
  /** app.yml, parsed. */
  appYml: Record<string, unknown>;
  hookUrl: string;
  /** Where the browser comes back with the code (`<berth>/probot/setup`); a local address is fine here. */
  redirectUrl: string;
}

export function buildManifest(options: ManifestOptions): Record<string, unknown> {
  return {
    ...options.appYml,
    hook_attributes: { url: options.hookUrl },
    redirect_url: options.redirectUrl,
  };
}
