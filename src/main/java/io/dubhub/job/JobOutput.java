package io.dubhub.job;

import com.fasterxml.jackson.annotation.JsonRawValue;

/**
 * One delivered file: where it is (relative to the job's sink folder), how big, its SHA-256, and
 * optional {@code metadata} (a JSON object of what the provider told about it, e.g. a clip's
 * title and virality score; null when there is none) that the manifest carries beside it.
 */
public record JobOutput(String language, String type, String path, long bytes, String sha256, @JsonRawValue String metadata) {

    public JobOutput(String language, String type, String path, long bytes, String sha256) {
        this(language, type, path, bytes, sha256, null);
    }
}
