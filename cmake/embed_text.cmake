# Writes OUTPUT, a C file defining `const char NAME[]` holding the text of INPUT, so files such as
# the Lua scripts stay readable files in the tree and still ship inside the binary.
# Usage: cmake -DINPUT=... -DOUTPUT=... -DNAME=... -P embed_text.cmake
file(READ "${INPUT}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
get_filename_component(source "${INPUT}" NAME)
file(WRITE "${OUTPUT}" "/* generated from ${source}; do not edit */\nconst char ${NAME}[] =\n    \"${text}\";\n")
