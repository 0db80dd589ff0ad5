package io.dubhub.routes;

import java.util.Optional;
import java.util.Set;

/**
 * What validation asks of the world outside the file. The running hub answers from its live state;
 * the offline command ({@link ValidateRoutesCommand}) answers what it can without one, and
 * {@link #live()} false turns the machine-dependent findings (folders, placeholders) into warnings.
 */
public interface RouteEnvironment {

    /** false for the offline command: no provider keys, no S3 account, maybe not the hub's machine. */
    boolean live();

    /** Every provider id the hub knows, enabled or not. */
    Set<String> providers();

    /** Why a known provider is disabled (the variables to set), or empty when it is enabled or this cannot be known. */
    Optional<String> providerDisabled(String provider);

    /** Resolves {{...}} placeholders the way Camel will; throws IllegalArgumentException naming what is unknown. */
    String resolvePlaceholders(String value);

    /** Why the bucket/prefix cannot be listed now, or empty when it can (or when this cannot be checked). */
    Optional<String> bucketProblem(String bucket, String prefix);
}
