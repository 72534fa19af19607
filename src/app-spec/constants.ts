// Names and patterns of the app spec shared by the schema, the rules and the warnings.
/** App Platform's rule for app and component names. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
export const ENV_KEY_PATTERN = /^[_A-Za-z][_A-Za-z0-9]*$/;

/** App Platform's encrypted form of a SECRET value (`doctl apps spec get` exports it): only DigitalOcean can open it. */
export function isAppPlatformEncrypted(value: string): boolean {
  return /^EV\[\d+:[^\]]*\]$/.test(value.trim());
}
export const LOG_DESTINATION_NAME_PATTERN = /^[A-Za-z0-9()[\]'"][-A-Za-z0-9_. /()[\]]{0,40}[A-Za-z0-9()[\]'"]$/;
export const DOMAIN_PATTERN = /^((xn--)?[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*\.)+[a-zA-Z]{2,}\.?$/;
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const REGIONS = ["atl", "nyc", "sfo", "tor", "ams", "fra", "lon", "blr", "sgp", "syd"] as const;
/** Datacenter slugs (`nyc3`, `ams3`): not App Platform regions, but common in real specs (a warning in Berth). */
export const DATACENTER_PATTERN = new RegExp(`^(${REGIONS.join("|")})[0-9]$`);

export const APP_ALERT_RULES = [
  "DEPLOYMENT_FAILED",
  "DEPLOYMENT_LIVE",
  "DEPLOYMENT_STARTED",
  "DEPLOYMENT_CANCELED",
  "DOMAIN_FAILED",
  "DOMAIN_LIVE",
  "AUTOSCALE_FAILED",
  "AUTOSCALE_SUCCEEDED",
] as const;
export const COMPONENT_ALERT_RULES = [
  "CPU_UTILIZATION",
  "MEM_UTILIZATION",
  "RESTART_COUNT",
  "REQUESTS_PER_SECOND",
  "REQUEST_DURATION_P95_MS",
] as const;
export const FUNCTION_ALERT_RULES = [
  "FUNCTIONS_ACTIVATION_COUNT",
  "FUNCTIONS_AVERAGE_DURATION_MS",
  "FUNCTIONS_ERROR_RATE_PER_MINUTE",
  "FUNCTIONS_AVERAGE_WAIT_TIME_MS",
  "FUNCTIONS_ERROR_COUNT",
  "FUNCTIONS_GB_RATE_PER_SECOND",
] as const;

