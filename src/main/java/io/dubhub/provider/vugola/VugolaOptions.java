package io.dubhub.provider.vugola;

import io.dubhub.job.JobRejectedException;
import io.dubhub.job.Stage;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Vugola job's options (the job spec's {@code options}), checked against the API doc before
 * anything is staged or called:
 * <pre>
 * mode          "clip" (default: POST /clip, many short clips) or "caption" (POST /caption, ≤ 5 min)
 * aspectRatio   "9:16" (default), "16:9", "1:1"
 * captionStyle  "minimalist" (default), "none", "highlighted", "scale", "box", "staticbox", "glow", "hormozi"
 * captionColor  "#RRGGBB" (optional)
 * schedule      {"platforms": ["tiktok", ...], "caption": "...", "at": "2030-05-01T15:00:00Z",
 *                "title": "..." (optional, ≤ 200, YouTube)}: post every finished clip there
 * </pre>
 */
public record VugolaOptions(String mode, String aspectRatio, String captionStyle, String captionColor, Schedule schedule) {

    public static final String CLIP = "clip";
    public static final String CAPTION = "caption";
    static final Set<String> KEYS = Set.of("mode", "aspectRatio", "captionStyle", "captionColor", "schedule");
    static final List<String> MODES = List.of(CLIP, CAPTION);
    static final List<String> ASPECT_RATIOS = List.of("9:16", "16:9", "1:1");
    static final List<String> CAPTION_STYLES = List.of("none", "highlighted", "scale", "minimalist", "box", "staticbox", "glow", "hormozi");
    static final Pattern COLOR = Pattern.compile("#[0-9A-Fa-f]{6}");
    public static final List<String> PLATFORMS = List.of("x", "instagram", "tiktok", "youtube", "facebook", "linkedin", "threads", "bluesky");
    static final Set<String> SCHEDULE_KEYS = Set.of("platforms", "caption", "at", "title");
    public static final int MAX_CAPTION = 5000;
    public static final int MAX_TITLE = 200;
    public static final int MAX_POSTS_PER_REQUEST = 25;

    /** Where and when the finished clips are posted: one post per clip and platform. */
    public record Schedule(List<String> platforms, String caption, Instant at, String title) {
    }

    public boolean caption() {
        return CAPTION.equals(mode);
    }

    /** The API path of the create call. */
    public String endpoint() {
        return caption() ? "/caption" : "/clip";
    }

    public static VugolaOptions parse(Map<String, Object> options, Instant now) {
        List<String> unknown = options.keySet().stream().filter(k -> !KEYS.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw reject("unknown Vugola option(s) " + String.join(", ", unknown) + "; known options are "
                    + String.join(", ", KEYS.stream().sorted().toList()));
        }
        String mode = oneOf(options, "mode", MODES, CLIP);
        String aspect = oneOf(options, "aspectRatio", ASPECT_RATIOS, "9:16");
        String style = oneOf(options, "captionStyle", CAPTION_STYLES, "minimalist");
        Object color = options.get("captionColor");
        if (color != null && !(color instanceof String c && COLOR.matcher(c).matches())) {
            throw reject("Vugola option captionColor must be a hex colour like #FFE600 (invalid_caption_color), not " + color);
        }
        Schedule schedule = options.get("schedule") == null ? null : schedule(options.get("schedule"), now);
        return new VugolaOptions(mode, aspect, style, (String) color, schedule);
    }

    @SuppressWarnings("unchecked")
    static Schedule schedule(Object raw, Instant now) {
        if (!(raw instanceof Map<?, ?> m)) {
            throw reject("Vugola option schedule must be an object like {\"platforms\":[\"tiktok\"],\"caption\":\"...\",\"at\":\"2030-05-01T15:00:00Z\"}");
        }
        Map<String, Object> s = (Map<String, Object>) m;
        List<String> unknown = s.keySet().stream().filter(k -> !SCHEDULE_KEYS.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw reject("unknown key(s) in schedule: " + String.join(", ", unknown) + "; allowed: platforms, caption, at, title");
        }
        if (!(s.get("platforms") instanceof List<?> list) || list.isEmpty()) {
            throw reject("schedule.platforms must be a non-empty list of " + String.join(", ", PLATFORMS));
        }
        Set<String> platforms = new LinkedHashSet<>();
        for (Object p : list) {
            String name = String.valueOf(p).toLowerCase(Locale.ROOT);
            if (!PLATFORMS.contains(name)) {
                throw reject("schedule.platforms: Vugola does not post to '" + p + "'; it posts to " + String.join(", ", PLATFORMS));
            }
            if (!platforms.add(name)) {
                throw reject("schedule.platforms lists " + name + " twice");
            }
        }
        if (!(s.get("caption") instanceof String caption) || caption.isBlank()) {
            throw reject("schedule.caption is required: the text of the posts (at most " + MAX_CAPTION + " characters)");
        }
        if (caption.length() > MAX_CAPTION) {
            throw reject("schedule.caption is " + caption.length() + " characters; Vugola takes at most " + MAX_CAPTION);
        }
        if (!(s.get("at") instanceof String atText)) {
            throw reject("schedule.at is required: a future UTC time like 2030-05-01T15:00:00Z");
        }
        Instant at;
        try {
            at = Instant.parse(atText);
        } catch (DateTimeParseException e) {
            throw reject("schedule.at '" + atText + "' is not an ISO 8601 UTC time like 2030-05-01T15:00:00Z");
        }
        if (!at.isAfter(now)) {
            throw reject("schedule.at " + atText + " is not in the future (now is " + now + "); Vugola only schedules future posts");
        }
        Object title = s.get("title");
        if (title != null && !(title instanceof String)) {
            throw reject("schedule.title must be a string of at most " + MAX_TITLE + " characters");
        }
        if (title != null && ((String) title).length() > MAX_TITLE) {
            throw reject("schedule.title is " + ((String) title).length() + " characters; Vugola takes at most " + MAX_TITLE);
        }
        return new Schedule(new ArrayList<>(platforms), caption, at, (String) title);
    }

    private static String oneOf(Map<String, Object> options, String key, List<String> allowed, String fallback) {
        Object v = options.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof String s) || !allowed.contains(s)) {
            throw reject("Vugola option " + key + " must be one of " + String.join(", ", allowed) + ", not " + v);
        }
        return s;
    }

    private static JobRejectedException reject(String message) {
        return new JobRejectedException(Stage.VALIDATE, message);
    }
}
