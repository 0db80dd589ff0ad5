package io.dubhub.job;

import java.util.List;
import java.util.Map;

/**
 * What should happen to one source: the watch route's defaults overridden by the file's sidecar.
 * Languages are BCP-47 tags (es, pt-BR); each provider maps them to its own codes.
 *
 * @param sourceLanguage  spoken language of the source, or null to let the provider detect it
 * @param targetLanguages languages to produce, at least one, no duplicates
 * @param title           shown at the provider; defaults to the file name
 * @param description     free text passed where the provider has a field for it
 * @param options         provider-specific settings, checked by that provider before any spend
 */
public record JobSpec(String sourceLanguage, List<String> targetLanguages, String title, String description,
                      Map<String, Object> options) {
}
