package io.dubhub.s3;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An {@code s3://bucket/prefix} as ops write it in a route (the {@code sink} parameter). The
 * prefix is kept without leading slash and, when not empty, with exactly one trailing slash, so
 * {@code prefix + name} is always a well-formed key.
 */
public record S3Location(String bucket, String prefix) {

    /** S3's own bucket naming rules (3-63 chars, lowercase letters, digits, dots, hyphens). */
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

    public static boolean isS3(String uri) {
        return uri != null && uri.trim().toLowerCase(Locale.ROOT).startsWith("s3://");
    }

    /** Parses {@code s3://bucket[/prefix]}; an operator gets a message saying what is wrong. */
    public static S3Location parse(String uri) {
        if (!isS3(uri)) {
            throw new IllegalArgumentException("'" + uri + "' is not an s3://bucket/prefix location");
        }
        String rest = uri.trim().substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException("'" + uri + "': '" + bucket + "' is not a valid S3 bucket name "
                    + "(3-63 characters: lowercase letters, digits, dots and hyphens)");
        }
        while (prefix.startsWith("/")) {
            prefix = prefix.substring(1);
        }
        while (prefix.endsWith("//")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        return new S3Location(bucket, prefix);
    }

    /** This location one folder deeper: {@code s3://bucket/prefix/name/}. */
    public S3Location child(String name) {
        return new S3Location(bucket, prefix + name + "/");
    }

    public String key(String relative) {
        return prefix + relative;
    }

    @Override
    public String toString() {
        return "s3://" + bucket + "/" + prefix;
    }
}
