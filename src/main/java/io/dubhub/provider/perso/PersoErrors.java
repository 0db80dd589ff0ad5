package io.dubhub.provider.perso;

import com.fasterxml.jackson.databind.JsonNode;
import io.dubhub.job.Stage;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every error code of shared/providers/perso-api.md as a sentence an operator can act on, and what
 * the pipeline does about it. The doc lists codes per endpoint but not the body shape, so the
 * code is read from {@code code}, {@code errorCode}, {@code error.code} or {@code result.code}.
 */
public final class PersoErrors {

    /** Code → (kind, what it means for the operator). */
    static final Map<String, Entry> CODES = Map.ofEntries(
            // File API
            e("F4001", Kind.MISCONFIGURED, "Perso refused the API key (F4001 Unauthorized): check HUB_PROVIDERS_PERSO_API_KEY"),
            e("F4003", Kind.REJECTED, "Perso says a required parameter is missing (F4003); this is a hub bug, please report it"),
            e("F4004", Kind.REJECTED, "the file is larger than Perso accepts (F4004 File size limit exceeded, 2 GB at most)"),
            e("F4005", Kind.OUT_OF_CREDITS, "Perso's plan usage limit is reached (F4005): upgrade or wait for the plan to reset, then drop the file again"),
            e("F4006", Kind.REJECTED, "Perso says this is not a valid external link (F4006)"),
            e("F4007", Kind.REJECTED, "Perso does not accept this media type (F4007 Invalid video/audio type); use .mp4, .webm, .mov, .mp3 or .wav"),
            e("F4008", Kind.REJECTED, "the video is longer than the Perso plan allows (F4008 Video duration limit exceeded)"),
            e("F4009", Kind.REJECTED, "the video is too short for Perso (F4009): at least 5 seconds are needed"),
            e("F40010", Kind.REJECTED, "the video resolution is above Perso's limit (F40010): at most 7999 px per side"),
            e("F40011", Kind.REJECTED, "the video resolution is too low for Perso (F40011): at least 201 px per side"),
            e("F40012", Kind.REJECTED, "the external video is not available in Perso's region (F40012)"),
            e("F40014", Kind.REJECTED, "the external video is members-only content (F40014)"),
            e("F40015", Kind.REJECTED, "the external video is paid content (F40015)"),
            e("F40016", Kind.REJECTED, "Perso says the YouTube URL is invalid (F40016)"),
            e("F40017", Kind.REJECTED, "Perso says the media URL is invalid (F40017)"),
            e("F4031", Kind.REJECTED, "Perso cannot access the Google Drive link (F4031)"),
            e("F4032", Kind.REJECTED, "the YouTube video is geo-restricted (F4032)"),
            e("F4033", Kind.REJECTED, "the YouTube video is age-restricted (F4033)"),
            e("F4035", Kind.REJECTED, "Perso cannot access the external media link (F4035)"),
            e("F4220", Kind.REJECTED, "Perso's media validation failed (F4220)"),
            // Portal (space) API
            e("PT0026", Kind.MISCONFIGURED, "Perso has no subscription for the configured space (PT0026 Space subscription info not found): check HUB_PROVIDERS_PERSO_SPACE_SEQ or the account's plan"),
            e("PT0027", Kind.MISCONFIGURED, "the API key's user is not an approved member of the space (PT0027): check HUB_PROVIDERS_PERSO_SPACE_SEQ"),
            // Video translator API
            e("VT4004", Kind.REJECTED, "Perso does not allow cancelling this project (VT4004)"),
            e("VT4009", Kind.REJECTED, "Perso does not support this target language with the chosen TTS model (VT4009); try ttsModel ELEVEN_V2"),
            e("VT4021", Kind.OUT_OF_CREDITS, "Perso: out of credits (402 VT4021 Insufficient credits); top up the account, then drop the file again"),
            e("VT4031", Kind.MISCONFIGURED, "Perso denied access to the project (VT4031): the API key lacks permission in this space"),
            e("VT4033", Kind.MISCONFIGURED, "the API key has no access to the Perso space (VT4033): check HUB_PROVIDERS_PERSO_SPACE_SEQ"),
            e("VT4041", Kind.REJECTED, "the Perso project no longer exists (VT4041 Project not found)"),
            e("VT4042", Kind.REJECTED, "Perso cannot find the uploaded video (VT4042 Video not found)"),
            e("VT4043", Kind.REJECTED, "Perso does not know the source language (VT4043)"),
            e("VT4044", Kind.REJECTED, "Perso does not know a target language (VT4044)"),
            e("VT4045", Kind.REJECTED, "the Perso project was deleted (VT4045)"),
            e("VT4046", Kind.REJECTED, "the Perso project's space was not found (VT4046)"),
            e("VT4091", Kind.REJECTED, "Perso failed to generate the video (VT4091 Video generation failed)"),
            e("VT5034", Kind.TRANSIENT, "Perso's translation queue is full (VT5034); will retry later"));

    /** Codes that mean "this project is gone or broken": the language fails, the job goes on. */
    static final Set<String> PROJECT_LOST = Set.of("VT4041", "VT4045", "VT4091");

    record Entry(Kind kind, String message) {
    }

    private PersoErrors() {
    }

    private static Map.Entry<String, Entry> e(String code, Kind kind, String message) {
        return Map.entry(code, new Entry(kind, message));
    }

    /** The error code in an answer, if it has one. */
    public static Optional<String> code(Answer answer) {
        JsonNode b = answer.body();
        if (b == null || !b.isObject()) {
            return Optional.empty();
        }
        for (JsonNode n : new JsonNode[]{b.get("code"), b.get("errorCode"), b.path("error").get("code"), b.path("result").get("code")}) {
            if (n != null && n.isTextual() && !n.asText().isBlank()) {
                return Optional.of(n.asText().trim().toUpperCase(Locale.ROOT));
            }
        }
        return Optional.empty();
    }

    /** The answer says the space has no translation queue yet (documented by message, not by code). */
    public static boolean queueNotFound(Answer answer) {
        String raw = answer.raw();
        return !answer.ok() && raw != null && raw.toLowerCase(Locale.ROOT).contains("queue not found");
    }

    /** What an unsuccessful answer means: a known code first, then the usual HTTP meaning. */
    public static ProviderException failure(String operation, Stage stage, Answer answer) {
        String said = ProviderHttp.providerMessage(answer);
        Optional<String> code = code(answer);
        if (code.isPresent()) {
            Entry entry = CODES.get(code.get());
            if (entry != null) {
                return new ProviderException(PersoProvider.ID, entry.kind(), stage, answer.status(),
                        entry.message() + " [" + operation + ", HTTP " + answer.status() + "]", said);
            }
        }
        if (answer.status() == 402) {
            return new ProviderException(PersoProvider.ID, Kind.OUT_OF_CREDITS, stage, 402,
                    CODES.get("VT4021").message() + " [" + operation + "]", said);
        }
        if (answer.status() == 404 && answer.raw() != null && answer.raw().toLowerCase(Locale.ROOT).contains("space")) {
            return new ProviderException(PersoProvider.ID, Kind.MISCONFIGURED, stage, 404,
                    "Perso does not know the space (HTTP 404 on " + operation + "): check HUB_PROVIDERS_PERSO_SPACE_SEQ", said);
        }
        return ProviderHttp.failure(PersoProvider.ID, operation, stage, answer);
    }

    /** Operator text for a code (used in per-language failures). */
    public static String describe(String code, String fallback) {
        Entry entry = code == null ? null : CODES.get(code);
        return entry == null ? fallback : entry.message();
    }
}
