package io.conv4j.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * A Spark ML param holding a stack of {@link ConvLayerSpec}s, with the JSON encoding that
 * {@code DefaultParamsWritable} writes into a saved pipeline's metadata. Filter and bias values are written
 * as the doubles equal to the floats (Java's shortest double text reads back exactly, so a saved and loaded
 * filter has the same bits); non-finite values are written as the strings {@code NaN}, {@code Infinity},
 * {@code -Infinity}, which plain JSON numbers cannot hold.
 */
public final class ConvLayersParam extends Param<ConvLayerSpec[]> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A layers param named {@code name} of {@code parent}. */
    public ConvLayersParam(Params parent, String name, String doc) {
        super(parent, name, doc);
    }

    @Override
    public String jsonEncode(ConvLayerSpec[] layers) {
        ArrayNode array = JSON.createArrayNode();
        for (ConvLayerSpec l : layers) {
            ObjectNode o = array.addObject();
            floats(o.putArray("filter"), l.filter());
            ints(o.putArray("filterShape"), l.filterShape());
            if (l.bias() != null) floats(o.putArray("bias"), l.bias());
            ints(o.putArray("strides"), l.strides());
            ints(o.putArray("dilations"), l.dilations());
            o.put("padding", l.padding());
            o.put("groups", l.groups());
            o.put("activation", l.activation());
            o.put("flipKernel", l.flipKernel());
            o.put("algorithm", l.algorithm());
            o.put("exactOnly", l.exactOnly());
        }
        return array.toString();
    }

    @Override
    public ConvLayerSpec[] jsonDecode(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("param " + name() + ": not JSON: " + e.getOriginalMessage(), e);
        }
        if (!root.isArray()) throw new IllegalArgumentException("param " + name() + ": expected a JSON array of layers");
        ConvLayerSpec[] layers = new ConvLayerSpec[root.size()];
        for (int i = 0; i < layers.length; i++) {
            JsonNode o = root.get(i);
            if (!o.isObject() || !o.has("filter") || !o.has("filterShape")) {
                throw new IllegalArgumentException("param " + name() + ": layer " + i + " needs at least filter and filterShape");
            }
            ConvLayerSpec l = ConvLayerSpec.of(floats(o.get("filter")), ints(o.get("filterShape")));
            if (o.hasNonNull("bias")) l = l.withBias(floats(o.get("bias")));
            int[] s = o.has("strides") ? ints(o.get("strides")) : l.strides();
            int[] d = o.has("dilations") ? ints(o.get("dilations")) : l.dilations();
            if (s.length != 2 || d.length != 2) {
                throw new IllegalArgumentException("param " + name() + ": layer " + i + ": strides and dilations take 2 values");
            }
            // absent fields keep ConvLayerSpec.of's defaults, so a hand-written layer (e.g. from Python) can be short
            layers[i] = l.withStrides(s[0], s[1]).withDilations(d[0], d[1])
                    .withPadding(o.path("padding").asText(l.padding()))
                    .withGroups(o.path("groups").asInt(l.groups()))
                    .withActivation(o.path("activation").asText(l.activation()))
                    .withFlipKernel(o.path("flipKernel").asBoolean(l.flipKernel()))
                    .withAlgorithm(o.path("algorithm").asText(l.algorithm()), o.path("exactOnly").asBoolean(l.exactOnly()));
        }
        return layers;
    }

    private static void floats(ArrayNode out, float[] values) {
        for (float v : values) {
            if (Float.isFinite(v)) out.add((double) v);
            else out.add(Float.toString(v));
        }
    }

    private static void ints(ArrayNode out, int[] values) {
        for (int v : values) out.add(v);
    }

    private static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode n = array.get(i);
            v[i] = n.isTextual() ? Float.parseFloat(n.asText()) : (float) n.doubleValue();
        }
        return v;
    }

    private static int[] ints(JsonNode array) {
        int[] v = new int[array.size()];
        for (int i = 0; i < v.length; i++) v[i] = array.get(i).intValue();
        return v;
    }
}
