package io.dubhub.job;

/**
 * One delivered file: where it is (relative to the job's sink folder), how big, its SHA-256, and
 * optional {@code metadata} (a JSON object of what the provider told about it, e.g. a clip's
 * title and virality score; null when there is none) that the manifest carries beside it.
 */
public record JobOutput(String language, String type, String path, long bytes, String sha256, String metadata) {

    public JobOutput(String language, String type, String path, long bytes, String sha256) {
        this(language, type, path, bytes, sha256, null);
    }
}
