package dev.sous.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A tiny HTTP service the way a scheduler runs one: the port comes from
 * PORT0 (then PORT), the version from APP_VERSION.
 */
public final class Hello {
  private Hello() {}

  static String env(String... names) {
    for (String n : names) {
      String v = System.getenv(n);
      if (v != null && !v.isEmpty()) return v;
    }
    return null;
  }

  static String quote(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static void reply(HttpExchange ex, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  public static void main(String[] args) throws IOException {
    String port = env("PORT0", "PORT");
    int p = Integer.parseInt(port == null ? "8080" : port);
    String version = env("APP_VERSION");
    String v = version == null ? "unknown" : version;

    HttpServer server = HttpServer.create(new InetSocketAddress(p), 0);
    server.createContext("/health", ex -> reply(ex, 200, "{\"status\":\"ok\"}"));
    server.createContext("/", ex -> {
      if (!"/".equals(ex.getRequestURI().getPath())) {
        reply(ex, 404, "{\"error\":\"not found\"}");
        return;
      }
      reply(ex, 200, "{\"name\":\"hello-java\",\"version\":" + quote(v) + ",\"revision\":" + quote(env("APP_REVISION")) + "}");
    });
    // Stop promptly when the scheduler asks.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
    server.start();
    System.out.println("hello-java " + v + " listening on " + p);
  }
}
