package io.lookalike.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks, before anything starts, that the ports a command will listen on are free: a port in use
 * then fails in a second with the setting that names it, not after the broker and the model are up.
 */
final class PortCheck {

  /**
   * A port to listen on and the option or setting that chose it; port 0 (any free one) is never
   * checked.
   */
  record Port(String setting, String host, int port) {}

  private PortCheck() {}

  /**
   * One line per problem, e.g. {@code --port 8080: 127.0.0.1:8080 is already in use}; empty when
   * all are free.
   */
  static List<String> problems(List<Port> ports) {
    List<String> problems = new ArrayList<>();
    Map<Integer, Port> seen = new HashMap<>();
    for (Port port : ports) {
      if (port.port() == 0) {
        continue;
      }
      if (port.port() < 0 || port.port() > 65535) {
        problems.add(port.setting() + " " + port.port() + ": not a port (0-65535)");
        continue;
      }
      Port before = seen.putIfAbsent(port.port(), port);
      if (before != null) {
        problems.add(port.setting() + " " + port.port() + ": the same port as " + before.setting());
        continue;
      }
      String problem = bindProblem(port.host(), port.port());
      if (problem != null) {
        problems.add(port.setting() + " " + port.port() + ": " + problem);
      }
    }
    return problems;
  }

  /** Throws a {@link StartupException} listing every port problem at once. */
  static void requireFree(List<Port> ports) {
    List<String> problems = problems(ports);
    if (!problems.isEmpty()) {
      throw new StartupException(problems);
    }
  }

  private static String bindProblem(String host, int port) {
    InetAddress address;
    try {
      address = host == null || host.isBlank() ? null : InetAddress.getByName(host);
    } catch (IOException e) {
      return "cannot resolve the address " + host;
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true); // as the servers do: a port in TIME_WAIT is free
      socket.bind(
          address == null ? new InetSocketAddress(port) : new InetSocketAddress(address, port));
      return null;
    } catch (IOException e) {
      String where = (host == null || host.isBlank() ? "*" : host) + ":" + port;
      return where
          + " is already in use"
          + (e.getMessage() == null || e.getMessage().contains("in use")
              ? ""
              : " (" + e.getMessage() + ")")
          + "; choose another or stop what listens there";
    }
  }
}
