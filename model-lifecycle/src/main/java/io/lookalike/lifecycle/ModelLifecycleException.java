package io.lookalike.lifecycle;

/**
 * A request to the model lifecycle that cannot be done as asked, with the reason; the caller
 * decides how to answer.
 */
public class ModelLifecycleException extends RuntimeException {

  /** Why; {@link #code()} is the stable name the admin API answers with. */
  public enum Reason {
    /** No model of that modelId is registered. */
    UNKNOWN_MODEL("unknown_model"),
    /** The model cannot be loaded from its URL (missing file, not TorchScript, wrong output). */
    BAD_MODEL("bad_model"),
    /** The model has not caught up with the catalog yet, so searches cannot switch to it. */
    NOT_CAUGHT_UP("not_caught_up"),
    /** The model is the one searches use, so it cannot be dropped. */
    ACTIVE_MODEL("active_model"),
    /**
     * The model was refused (quality gate, or a broken first batch), so it cannot be switched to.
     */
    REFUSED_MODEL("refused_model");

    private final String code;

    Reason(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  private final Reason reason;

  public ModelLifecycleException(Reason reason, String message) {
    this(reason, message, null);
  }

  public ModelLifecycleException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
