package io.dubhub.provider.dublab;

import static io.dubhub.provider.ProviderJson.extensionOf;
import java.net.URI;
import java.util.Locale;
import java.util.Map;

/** Names dublab's output types as files a person recognises: talk.es.mp4, talk.es.srt, talk.es.poster.jpg. */
final class DublabOutputs {

    private static final Map<String, String> DEFAULT_EXTENSION = Map.of(
            "translated_mp4", "mp4", "translated", "mp4", "translated_mp3", "mp3", "translated_subtitle", "srt",
            "original_mp3", "mp3", "original_subtitle", "srt", "poster", "jpg");

    private DublabOutputs() {
    }

    static String fileName(String stem, String language, String type, URI url) {
        String ext = extensionOf(url);
        if (ext == null) {
            ext = DEFAULT_EXTENSION.getOrDefault(type, "bin");
        }
        String kind = switch (type) {
            case "translated" -> ".pipeline";
            case "poster" -> ".poster";
            default -> "";
        };
        return stem + "." + language + kind + "." + ext;
    }

}
