// Probot's manifest flow registers the app with the server's root (`https://host/`) as its webhook URL,
// while the middleware listens at /api/github/webhooks. Deliveries posted to the root are handed to the same
// middleware (signature checked as usual), so an app registered through the flow works as registered.
import type { IncomingMessage, ServerResponse } from "node:http";

type Middleware = (req: IncomingMessage, res: ServerResponse) => unknown;

export function createRootWebhookHandler(webhooks: Middleware, webhookPath = "/api/github/webhooks") {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || path !== "/" || !req.headers["x-github-event"]) return false;
    req.url = webhookPath;
    await webhooks(req, res);
    return true;
  };
}
