#include "appliance/appliance.h"

int main(int argc, char** argv) { return strongroom::appliance::RunStrongroom(argc, argv); }
