import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The smoke test's image host: serves the *.jpg files of one directory over HTTP on port 8000, so that products
 * published through the webhook (which takes only http(s) image URLs) have photos the fetcher can download.
 * Run by smoke.sh with Java's source launcher: java ImageServer.java DIR
 */
public final class ImageServer {
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]).toAbsolutePath().normalize();
    HttpServer server = HttpServer.create(new InetSocketAddress("0.0.0.0", 8000), 0);
    server.createContext("/", exchange -> {
      Path file = dir.resolve(exchange.getRequestURI().getPath().substring(1)).normalize();
      boolean found = file.startsWith(dir) && file.toString().endsWith(".jpg") && Files.isRegularFile(file);
      byte[] body = found ? Files.readAllBytes(file) : new byte[0];
      if (found) {
        exchange.getResponseHeaders().set("Content-Type", "image/jpeg");
      }
      exchange.sendResponseHeaders(found ? 200 : 404, found ? body.length : -1);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    System.out.println("Serving " + dir + " on port 8000");
  }
}
