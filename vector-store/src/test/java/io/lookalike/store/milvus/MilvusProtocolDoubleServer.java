package io.lookalike.store.milvus;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * Runs {@link MilvusProtocolDouble} as a process, for deploy/compose's smoke test on machines where
 * Milvus's image cannot be had: gRPC on 0.0.0.0:19530 and {@code GET /healthz} on 9091, the ports
 * of Milvus standalone. It is not Milvus (in-memory, exact search, no persistence): never use it as
 * one.
 */
public final class MilvusProtocolDoubleServer {

  private MilvusProtocolDoubleServer() {}

  public static void main(String[] args) throws Exception {
    int grpcPort = Integer.getInteger("milvus.double.port", 19530);
    int healthPort = Integer.getInteger("milvus.double.health.port", 9091);
    if (args.length > 0) {
      System.out.println(
          "Ignoring Milvus's arguments " + Arrays.toString(args) + ": this is a protocol double");
    }
    CountDownLatch stopped = new CountDownLatch(1);
    try (MilvusProtocolDouble milvus =
        new MilvusProtocolDouble(new InetSocketAddress("0.0.0.0", grpcPort))) {
      HttpServer health = HttpServer.create(new InetSocketAddress("0.0.0.0", healthPort), 0);
      health.createContext(
          "/healthz",
          exchange -> {
            byte[] body =
                "OK (Milvus protocol double, not Milvus)".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
          });
      health.start();
      Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
      System.out.println(
          "Milvus protocol double (NOT Milvus: in memory, exact search) on gRPC port "
              + grpcPort
              + ", /healthz on "
              + healthPort);
      stopped.await();
      health.stop(0);
    }
  }
}
