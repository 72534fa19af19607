// A router worker process (see router-cluster.ts): an in-process Router on the port the cluster shares,
// changed only by messages from Berth's process, reporting what is in flight and its metrics back.
import pino from "pino";
import { Registry } from "prom-client";
import type { FromWorker, RouterOp, ToWorker, WorkerSettings } from "./router-cluster.js";
import { Router } from "./router.js";

/** How often a change in the in-flight counts is reported; draining itself never waits on this. */
const IN_FLIGHT_REPORT_MS = 200;

const settings = JSON.parse(process.env.BERTH_ROUTER_WORKER ?? "null") as WorkerSettings | null;
if (!settings || !process.send) {
  console.error("router-worker.ts is started by Berth's router cluster, not by hand");
  process.exit(2);
}

const log = pino({ level: settings.logLevel }).child({ routerWorker: process.pid });
const registry = new Registry();
const router = new Router({ ...settings, log, registry });

function send(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

function apply(change: RouterOp): void {
  // A change the model accepted should apply here too; if one does not, this worker must not die of it.
  try {
    switch (change.op) {
      case "setApp":
        return router.setApp(change.app);
      case "removeApp":
        return router.removeApp(change.name);
      case "addBackend":
        return router.addBackend(change.app, change.component, change.backend);
      case "setStaticSite":
        return router.setStaticSite(change.app, change.component, change.site);
    }
  } catch (err) {
    log.error({ err, change: change.op }, "router worker could not apply a change");
  }
}

let listening = false;
process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "state":
      for (const change of message.ops) apply(change);
      if (!listening) {
        listening = true;
        router.listen().then(
          (port) => send({ type: "listening", port }),
          (err: Error) => {
            send({ type: "listenFailed", message: err.message });
            process.exit(1);
          },
        );
      }
      return;
    case "op":
      return apply(message.change);
    case "removeBackend":
      void router
        .removeBackend(message.app, message.component, message.id, message.drainMs)
        .then(({ abandoned }) => send({ type: "drained", seq: message.seq, abandoned }));
      return;
    case "metrics":
      void registry.getMetricsAsJSON().then((metrics) => send({ type: "metrics", seq: message.seq, metrics }));
      return;
    case "sync":
      // Messages arrive in order, so every change sent before this one has been applied.
      send({ type: "synced", seq: message.seq });
      return;
    case "close":
      clearInterval(reporter);
      void router.close().finally(() => process.exit(0));
      return;
  }
});

let lastReport = "";
const reporter = setInterval(() => {
  const counts = router.inFlightCounts();
  const report = JSON.stringify(counts);
  if (report === lastReport) return;
  lastReport = report;
  send({ type: "inFlight", counts });
}, IN_FLIGHT_REPORT_MS);

// Berth's process going away closes the channel: the worker must not outlive it.
process.on("disconnect", () => process.exit(0));

send({ type: "hello" });
