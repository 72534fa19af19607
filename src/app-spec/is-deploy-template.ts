/** Whether a spec file is a Deploy-to-DigitalOcean template (`deploy.template.yaml`), whose spec sits under `spec:`. */
export function isDeployTemplate(path: string): boolean {
  return /(^|[/\\])deploy\.template\.ya?ml$/.test(path);
}
