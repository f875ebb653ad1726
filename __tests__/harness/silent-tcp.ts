/** A TCP server on 127.0.0.1 that accepts connections and never answers: the hung-endpoint fault. */
import { createServer, type Socket } from "node:net";

export interface SilentServer {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    // Read and discard whatever arrives; never write.
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("silent server has no TCP address");
  return {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    accepted: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
