package io.conv4j.spark;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The setters PySpark reaches through py4j (which passes Python lists as java.util.List and numbers as
 * Integer/Double) configure the same layers as the array setters.
 */
class ListSettersTest {
    @Test
    void listsAndJsonGiveTheSameLayersAsArrays() {
        ConvLayerSpec first = ConvLayerSpec.of(new float[] {0.5f, -1, 2, 0.1f}, 1, 1, 2, 2).withBias(new float[] {1, -1});
        ConvLayerSpec second = ConvLayerSpec.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 3, 3, 2, 1)
                .withPadding("same").withActivation("relu");
        Conv2dTransformer arrays = new Conv2dTransformer().setInputCol("x").setInputShape(4, 4, 2).setLayers(first, second);

        Conv2dTransformer lists = new Conv2dTransformer().setInputCol("x")
                .setInputShape(List.of(4, 4, 2))
                .setFilter(List.of(0.5, -1, 2, 0.1), List.of(1, 1, 2, 2))
                .setBias(List.of(1, -1))
                .setExtraLayersJson("[{\"filter\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0],"
                        + " \"filterShape\": [3, 3, 2, 1], \"padding\": \"same\", \"activation\": \"relu\"}]");
        assertArrayEquals(arrays.getLayers(), lists.getLayers());
        assertArrayEquals(arrays.getOrDefault(arrays.inputShape()), lists.getOrDefault(lists.inputShape()));
    }

    @Test
    void shortOrBrokenLayerJsonIsRefusedWithTheParamName() {
        Conv2dTransformer t = new Conv2dTransformer();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.setExtraLayersJson("[{\"filterShape\": [1, 1, 1, 1]}]"));
        assertTrue(e.getMessage().contains("extraLayers: layer 0 needs at least filter and filterShape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.setExtraLayersJson("[{"));
        assertTrue(e.getMessage().contains("extraLayers: not JSON"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> t.setExtraLayersJson("[{\"filter\": [1, 2], \"filterShape\": [1, 1, 1, 1]}]"));
        assertTrue(e.getMessage().contains("filter has 2 values"), e.getMessage());
    }
}
