/** A user's module that needs conv4j and nothing else. */
module consumer.modulepath {
    requires io.conv4j;
}
