package io.lookalike.store.milvus;

import io.milvus.shaded.io.grpc.Status;
import io.milvus.shaded.io.grpc.StatusRuntimeException;
import io.milvus.v2.exception.ErrorCode;
import io.milvus.v2.exception.MilvusClientException;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call to Milvus with its failure policy. The SDK already retries UNAVAILABLE and rate limiting
 * ({@link MilvusConfig#retryConfig()}), so those are not retried again here; it does not retry
 * DEADLINE_EXCEEDED (a call that may have been applied), which is safe for us as every call is
 * idempotent (upserts and deletes by primary key, reads, DDL that is checked first), so this
 * retries it with the same back-off.
 */
record MilvusCalls(MilvusConfig config, String what) {

  private static final Logger log = LoggerFactory.getLogger(MilvusCalls.class);

  /** Runs a call that returns nothing. */
  void runVoid(Runnable call) {
    run(
        () -> {
          call.run();
          return null;
        });
  }

  <T> T run(Supplier<T> call) {
    long start = System.currentTimeMillis();
    long backoff = config.retryInitialBackoffMs();
    for (int attempt = 1; ; attempt++) {
      try {
        return call.get();
      } catch (MilvusClientException e) {
        Status.Code code = grpcCode(e);
        boolean deadline = code == Status.Code.DEADLINE_EXCEEDED;
        long elapsed = System.currentTimeMillis() - start;
        if (deadline
            && attempt < config.retryMaxAttempts()
            && elapsed + backoff <= config.retryMaxTotalMs()) {
          log.warn(
              "Retry {} of {} for Milvus {} in {} ms: deadline exceeded",
              attempt,
              config.retryMaxAttempts() - 1,
              what,
              backoff);
          sleep(backoff);
          backoff = Math.min(backoff * 2, config.retryMaxBackoffMs());
          continue;
        }
        // TIMEOUT = the SDK's retries of UNAVAILABLE or rate limiting ran out: Milvus may come
        // back.
        boolean transientFailure =
            deadline || e.getErrorCode() == ErrorCode.TIMEOUT || code == Status.Code.UNAVAILABLE;
        throw new MilvusStoreException(
            "Milvus "
                + what
                + " failed"
                + (transientFailure ? " (transient, " + "retries exhausted)" : " permanently")
                + ": "
                + describe(e, code),
            transientFailure,
            e);
      }
    }
  }

  private static Status.Code grpcCode(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof StatusRuntimeException status) {
        return status.getStatus().getCode();
      }
    }
    // The SDK keeps only the gRPC error's text ("... StatusRuntimeException: DEADLINE_EXCEEDED:
    // ...").
    String message = String.valueOf(e.getMessage());
    for (Status.Code code : List.of(Status.Code.DEADLINE_EXCEEDED, Status.Code.UNAVAILABLE)) {
      if (message.contains("StatusRuntimeException: " + code.name())) {
        return code;
      }
    }
    return null;
  }

  private static String describe(MilvusClientException e, Status.Code code) {
    StringBuilder text = new StringBuilder(e.getErrorCode().name());
    if (code != null) {
      text.append(" gRPC ").append(code);
    }
    if (e.getServerErrCode() != 0) {
      text.append(" server code ").append(e.getServerErrCode());
    }
    return text.append(": ").append(e.getMessage()).toString();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MilvusStoreException("Interrupted while retrying a Milvus call", true, e);
    }
  }
}
