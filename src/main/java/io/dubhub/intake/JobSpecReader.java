package io.dubhub.intake;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.Stage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds a {@link JobSpec} from the watch route's defaults and an optional sidecar
 * {@code <file>.job.json}. Strict on purpose: an unknown key or a wrong type is far more
 * likely a typo than an intent, and a typo must not turn into a paid job with the wrong
 * languages. Every error names the key and what is allowed.
 */
@ApplicationScoped
public class JobSpecReader {

    /** Keys a sidecar may hold; anything else is rejected with this list in the message. */
    public static final List<String> KEYS = List.of("sourceLanguage", "targetLanguages", "title", "description", "options");

    /** A sidecar is a few lines of JSON; a large one is a mistake (or an attack), not a spec. */
    public static final long MAX_SIDECAR_BYTES = 64 * 1024;

    private static final int MAX_TITLE = 500;
    private static final int MAX_DESCRIPTION = 5000;
    private static final int MAX_TARGETS = 50;

    @Inject
    ObjectMapper json;

    public JobSpec read(Defaults defaults, Path sidecar, String sourceName) {
        ObjectNode merged = json.createObjectNode();
        if (defaults.sourceLanguage() != null && !defaults.sourceLanguage().isBlank()) {
            merged.put("sourceLanguage", defaults.sourceLanguage().trim());
        }
        if (defaults.targetLanguages() != null && !defaults.targetLanguages().isBlank()) {
            var arr = merged.putArray("targetLanguages");
            for (String t : defaults.targetLanguages().split(",")) {
                if (!t.isBlank()) {
                    arr.add(t.trim());
                }
            }
        }
        if (defaults.options() != null && !defaults.options().isBlank()) {
            try {
                JsonNode options = json.readTree(defaults.options());
                if (!options.isObject()) {
                    throw new JobRejectedException(Stage.SPEC, "the watch route's 'options' parameter must be a JSON object, got: " + defaults.options());
                }
                merged.set("options", options);
            } catch (JsonProcessingException e) {
                throw new JobRejectedException(Stage.SPEC, "the watch route's 'options' parameter is not valid JSON: " + e.getOriginalMessage());
            }
        }
        if (sidecar != null && Files.exists(sidecar)) {
            ObjectNode overrides = readSidecar(sidecar);
            overrides.fields().forEachRemaining(e -> merged.set(e.getKey(), e.getValue()));
        }
        return validate(merged, sidecar == null ? null : sidecar.getFileName().toString(), sourceName);
    }

    private ObjectNode readSidecar(Path sidecar) {
        String name = sidecar.getFileName().toString();
        try {
            long size = Files.size(sidecar);
            if (size > MAX_SIDECAR_BYTES) {
                throw new JobRejectedException(Stage.SPEC, "the sidecar " + name + " is " + size
                        + " bytes; a job spec may be at most " + MAX_SIDECAR_BYTES + " bytes");
            }
            JsonNode node = json.readTree(Files.readAllBytes(sidecar));
            if (node == null || !node.isObject()) {
                throw new JobRejectedException(Stage.SPEC, "the sidecar " + name + " must hold one JSON object like "
                        + "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
            }
            return (ObjectNode) node;
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new JobRejectedException(Stage.SPEC, "the sidecar " + name + " is not valid JSON"
                    + (loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")")
                    + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new JobRejectedException(Stage.SPEC, "cannot read the sidecar " + name + ": " + e.getMessage());
        }
    }

    private JobSpec validate(ObjectNode spec, String sidecarName, String sourceName) {
        String where = sidecarName == null ? "the job spec" : sidecarName;
        for (Iterator<String> it = spec.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw new JobRejectedException(Stage.SPEC, where + ": unknown key '" + key + "'; allowed keys are " + String.join(", ", KEYS));
            }
        }
        String source = optionalString(spec, "sourceLanguage", where, 35);
        if (source != null) {
            source = Languages.canonical(source, "sourceLanguage", where);
        }
        JsonNode targetsNode = spec.get("targetLanguages");
        if (targetsNode == null || targetsNode.isNull()) {
            throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' is missing; give at least one BCP-47 code, e.g. [\"es\",\"pt-BR\"]"
                    + " (in the sidecar or the watch route's targetLanguages parameter)");
        }
        if (!targetsNode.isArray()) {
            throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' must be an array of BCP-47 codes like [\"es\",\"de\"], got "
                    + targetsNode.getNodeType().name().toLowerCase(Locale.ROOT));
        }
        if (targetsNode.isEmpty()) {
            throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' is empty; give at least one BCP-47 code");
        }
        if (targetsNode.size() > MAX_TARGETS) {
            throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' has " + targetsNode.size() + " entries; at most " + MAX_TARGETS);
        }
        Set<String> targets = new LinkedHashSet<>();
        for (JsonNode t : targetsNode) {
            if (!t.isTextual()) {
                throw new JobRejectedException(Stage.SPEC, where + ": every entry of 'targetLanguages' must be a string, got " + t);
            }
            String code = Languages.canonical(t.asText(), "targetLanguages", where);
            if (!targets.add(code)) {
                throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' lists " + code + " twice");
            }
        }
        if (source != null && targets.contains(source)) {
            throw new JobRejectedException(Stage.SPEC, where + ": 'targetLanguages' contains the source language " + source);
        }
        String title = optionalString(spec, "title", where, MAX_TITLE);
        String description = optionalString(spec, "description", where, MAX_DESCRIPTION);
        Map<String, Object> options = new LinkedHashMap<>();
        JsonNode optionsNode = spec.get("options");
        if (optionsNode != null && !optionsNode.isNull()) {
            if (!optionsNode.isObject()) {
                throw new JobRejectedException(Stage.SPEC, where + ": 'options' must be a JSON object of provider settings");
            }
            options = json.convertValue(optionsNode, LinkedHashMap.class);
        }
        return new JobSpec(source, new ArrayList<>(targets), title == null ? sourceName : title, description, options);
    }

    private static String optionalString(ObjectNode spec, String key, String where, int maxLength) {
        JsonNode node = spec.get(key);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new JobRejectedException(Stage.SPEC, where + ": '" + key + "' must be a string, got "
                    + node.getNodeType().name().toLowerCase(Locale.ROOT) + " " + node);
        }
        String value = node.asText();
        if (value.length() > maxLength) {
            throw new JobRejectedException(Stage.SPEC, where + ": '" + key + "' is " + value.length() + " characters; at most " + maxLength);
        }
        return value.isBlank() ? null : value;
    }

    /** The watch route's parameters that act as job defaults. */
    public record Defaults(String sourceLanguage, String targetLanguages, String options) {
    }
}
