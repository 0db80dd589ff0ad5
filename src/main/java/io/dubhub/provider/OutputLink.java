package io.dubhub.provider;

import java.net.URI;
import java.util.Map;

/**
 * One output a provider offers: which language, what kind, where to fetch it and what to call it
 * in the sink. {@code providerRef} is the provider object that owns it (to refresh the link).
 * {@code headers} are sent with the download (empty for presigned links, which must get none).
 * {@code metadata} is what the provider says about the output (title, duration...), recorded with
 * the delivered file and written into the manifest; empty for most providers.
 *
 * <p>{@code hostedDetails} is null for a file to download. A provider that keeps the result and
 * serves it itself (alugha hosts the video and its tracks) answers {@link #hosted} links instead:
 * they are recorded in the manifest with their link and details, never downloaded.
 */
public record OutputLink(String language, String type, URI url, String fileName, String providerRef,
                         Map<String, String> headers, Map<String, Object> metadata, Map<String, String> hostedDetails) {

    public OutputLink {
        metadata = metadata == null ? Map.of() : metadata;
    }

    /** A file to download into the sink. */
    public OutputLink(String language, String type, URI url, String fileName, String providerRef, Map<String, String> headers) {
        this(language, type, url, fileName, providerRef, headers, Map.of(), null);
    }

    /** A file to download, with what the provider says about it. */
    public OutputLink(String language, String type, URI url, String fileName, String providerRef, Map<String, String> headers,
                      Map<String, Object> metadata) {
        this(language, type, url, fileName, providerRef, headers, metadata, null);
    }

    /** A result the provider hosts at {@code url}: recorded, not downloaded. */
    public static OutputLink hosted(String language, String type, URI url, String providerRef, Map<String, String> details) {
        return new OutputLink(language, type, url, null, providerRef, Map.of(), Map.of(), details == null ? Map.of() : details);
    }

    public boolean isHosted() {
        return hostedDetails != null;
    }

    public OutputLink withUrl(URI fresh) {
        return new OutputLink(language, type, fresh, fileName, providerRef, headers, metadata, hostedDetails);
    }

    public OutputLink withUrl(URI fresh, Map<String, String> freshHeaders) {
        return new OutputLink(language, type, fresh, fileName, providerRef, freshHeaders, metadata, hostedDetails);
    }
}
