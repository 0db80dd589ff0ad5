package io.dubhub.intake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;

/**
 * A bucket object a job came from and what the route said to do with it when the job ends,
 * kept in the ledger's {@code source_object} column at intake.
 *
 * @param watchPrefix  the route's prefix; done/failed prefixes are relative to it
 * @param afterJob     {@link AfterJob}
 * @param donePrefix   where a delivered source goes with {@code move}, relative to watchPrefix
 * @param failedPrefix where a failed source goes (with {@code move}), relative to watchPrefix
 */
public record BucketSource(String bucket, String key, String etag, long size, String watchPrefix, AfterJob afterJob,
                           String donePrefix, String failedPrefix) {

    public static final String DEFAULT_DONE_PREFIX = BucketIntake.HUB_PREFIX + "done/";
    public static final String DEFAULT_FAILED_PREFIX = BucketIntake.HUB_PREFIX + "failed/";

    /** What happens to the source object when its job ends. */
    public enum AfterJob {
        /** Left where it is (default); a failed job still gets {@code <key>.error.json} beside it. */
        KEEP,
        /** Moved under donePrefix / failedPrefix (copy, then delete) with its sidecar. */
        MOVE,
        /** Deleted when delivered; a failed one is moved under failedPrefix, so nothing is lost. */
        DELETE;

        public static AfterJob parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "", "keep" -> KEEP;
                case "move" -> MOVE;
                case "delete" -> DELETE;
                default -> throw new IllegalArgumentException("afterJob '" + value + "' is not one of keep, move, delete");
            };
        }
    }

    /** The key relative to the watched prefix (what done/failed keys keep). */
    public String relativeKey() {
        return key.startsWith(watchPrefix) ? key.substring(watchPrefix.length()) : key;
    }

    public String toJson(ObjectMapper json) {
        ObjectNode n = json.createObjectNode();
        n.put("bucket", bucket);
        n.put("key", key);
        n.put("etag", etag);
        n.put("size", size);
        n.put("watchPrefix", watchPrefix);
        n.put("afterJob", afterJob.name().toLowerCase(Locale.ROOT));
        n.put("donePrefix", donePrefix);
        n.put("failedPrefix", failedPrefix);
        return n.toString();
    }

    public static BucketSource fromJson(ObjectMapper json, String text) {
        try {
            JsonNode n = json.readTree(text);
            return new BucketSource(n.path("bucket").asText(), n.path("key").asText(), n.path("etag").asText(),
                    n.path("size").asLong(), n.path("watchPrefix").asText(""), AfterJob.parse(n.path("afterJob").asText("keep")),
                    n.path("donePrefix").asText(DEFAULT_DONE_PREFIX), n.path("failedPrefix").asText(DEFAULT_FAILED_PREFIX));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable source_object " + text, e);
        }
    }

    /** A prefix as written in a route: no leading slash, one trailing slash. */
    public static String normalizePrefix(String prefix, String fallback) {
        String p = prefix == null || prefix.isBlank() ? fallback : prefix.trim();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p.isEmpty() || p.endsWith("/") ? p : p + "/";
    }
}
