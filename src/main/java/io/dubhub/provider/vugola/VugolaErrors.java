package io.dubhub.provider.vugola;

import com.fasterxml.jackson.databind.JsonNode;
import io.dubhub.job.Stage;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Vugola's answers in words an operator can act on: {@code {"error": code, "message": text}}
 * bodies, the documented codes, and 429's Retry-After.
 */
final class VugolaErrors {

    /** When a 429 comes without Retry-After: one rolling window. */
    static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(60);

    /** What the documented codes mean, for the error text. */
    static final Map<String, String> MEANINGS = Map.ofEntries(
            Map.entry("invalid_aspect_ratio", "aspect ratio must be 9:16, 16:9 or 1:1"),
            Map.entry("invalid_caption_style", "unknown caption style"),
            Map.entry("invalid_caption_color", "caption colour must be #RRGGBB"),
            Map.entry("video_too_short", "clipping needs a video of at least 5 minutes"),
            Map.entry("video_too_long", "the video is longer than Vugola takes"),
            Map.entry("unknown_duration", "Vugola could not tell how long the video is"),
            Map.entry("blocked_url", "Vugola refused to fetch the video URL (SSRF protection: the hub's public base URL must be publicly reachable)"),
            Map.entry("missing_video_url", "no video_url was sent"),
            Map.entry("x_reconnect_required", "the X account must be reconnected in the Vugola dashboard"),
            Map.entry("no_speech_detected", "Vugola found no speech in the video, so there is nothing to caption; the credits were refunded"),
            Map.entry("subscription_required", "the Vugola account has no active paid subscription"),
            Map.entry("insufficient_credits", "not enough Vugola credits"),
            Map.entry("cannot_cancel", "the post is already being published or was published"),
            Map.entry("not_found", "Vugola does not know it (or it belongs to another account)"));

    private VugolaErrors() {
    }

    static Optional<String> code(Answer answer) {
        JsonNode b = answer.body();
        return b != null && b.path("error").isTextual() ? Optional.of(b.get("error").asText()) : Optional.empty();
    }

    static String said(Answer answer) {
        JsonNode b = answer.body();
        String message = b != null && b.path("message").isTextual() ? b.get("message").asText() : null;
        String code = code(answer).orElse(null);
        if (code == null) {
            return ProviderHttp.providerMessage(answer);
        }
        return code + (message == null ? "" : ": " + message);
    }

    /** A failed job's {@code error} in words: documented codes explained, free text kept. */
    static String describeJobError(String error) {
        if (error == null || error.isBlank()) {
            return "Vugola failed the job without saying why";
        }
        String meaning = MEANINGS.get(error);
        return meaning == null ? "Vugola failed the job: " + error : "Vugola failed the job (" + error + "): " + meaning;
    }

    /** When a 429 lets us try again: Retry-After in seconds or as an HTTP date, else one window. */
    static Instant retryAt(Answer answer, Instant now) {
        List<String> values = answer.headers() == null ? null : answer.headers().entrySet().stream()
                .filter(e -> e.getKey() != null && e.getKey().equalsIgnoreCase("retry-after"))
                .map(Map.Entry::getValue).findFirst().orElse(null);
        if (values != null && !values.isEmpty()) {
            String v = values.get(0).trim();
            try {
                return now.plusSeconds(Math.max(0, Long.parseLong(v)));
            } catch (NumberFormatException notSeconds) {
                try {
                    return ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                } catch (RuntimeException notDate) {
                    // fall through to the default
                }
            }
        }
        return now.plus(DEFAULT_RETRY_AFTER);
    }

    static ProviderException failure(String operation, Stage stage, Answer answer) {
        int status = answer.status();
        String said = said(answer);
        String code = code(answer).orElse("");
        String meaning = MEANINGS.get(code);
        return switch (status) {
            case 400 -> new ProviderException(VugolaProvider.ID, Kind.REJECTED, stage, status,
                    "Vugola refused " + operation + " (" + (code.isEmpty() ? "HTTP 400" : code) + ")"
                            + (meaning == null ? "" : ": " + meaning) + "; Vugola said: " + said, said);
            case 401 -> new ProviderException(VugolaProvider.ID, Kind.MISCONFIGURED, stage, status,
                    "Vugola refused the API key on " + operation + " (" + (code.isEmpty() ? "HTTP 401" : code)
                            + "): check HUB_PROVIDERS_VUGOLA_API_KEY (a vug_sk_ key of a paid plan)", said);
            case 402 -> {
                JsonNode b = answer.body();
                String numbers = b == null ? "" : " (needs " + b.path("credits_needed").asText("?") + ", has "
                        + b.path("credits_remaining").asText("?") + ")";
                yield new ProviderException(VugolaProvider.ID, Kind.OUT_OF_CREDITS, stage, status,
                        "Vugola: not enough credits for " + operation + numbers + "; top up, then drop the file again", said);
            }
            case 403 -> new ProviderException(VugolaProvider.ID, Kind.MISCONFIGURED, stage, status,
                    "Vugola refused " + operation + " (" + (code.isEmpty() ? "HTTP 403" : code) + "): "
                            + (meaning == null ? "access denied" : meaning) + "; see the dashboard's subscription page", said);
            case 404 -> new ProviderException(VugolaProvider.ID, Kind.REJECTED, stage, status,
                    "Vugola answered not_found on " + operation + ": " + MEANINGS.get("not_found"), said);
            default -> ProviderHttp.failure(VugolaProvider.ID, operation, stage, answer);
        };
    }
}
