package io.dubhub.job;

/**
 * The job cannot go on as asked and retrying will not help: bad sidecar, not a video, too long,
 * a language the provider does not offer, out of credits. Thrown before any spend where possible;
 * the message is shown to an operator as it is, so it says what was wrong and what is allowed.
 */
public class JobRejectedException extends RuntimeException {

    private final Stage stage;
    private final String providerMessage;

    public JobRejectedException(Stage stage, String reason) {
        this(stage, reason, null);
    }

    public JobRejectedException(Stage stage, String reason, String providerMessage) {
        super(reason);
        this.stage = stage;
        this.providerMessage = providerMessage;
    }

    public Stage stage() {
        return stage;
    }

    public String providerMessage() {
        return providerMessage;
    }
}
