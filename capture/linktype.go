package capture

import "fmt"

// LinkType is a pcap/pcapng link-layer header type (LINKTYPE_* from
// tcpdump.org's list; classic DLT_* values where files carry them).
type LinkType uint16

// The link types Decode understands. Several raw-IP values exist because
// systems disagreed on DLT_RAW before LINKTYPE_RAW was fixed at 101.
const (
	LinkNull      LinkType = 0   // BSD loopback, 4-byte address family in the writer's byte order
	LinkEthernet  LinkType = 1   // Ethernet II, with any number of VLAN tags
	LinkRawDLT12  LinkType = 12  // DLT_RAW on most systems
	LinkRawDLT14  LinkType = 14  // DLT_RAW on OpenBSD
	LinkRaw       LinkType = 101 // LINKTYPE_RAW: the packet starts with the IP header
	LinkLoop      LinkType = 108 // OpenBSD loopback, family in network byte order
	LinkLinuxSLL  LinkType = 113 // Linux "cooked" capture, 16-byte header
	LinkIPv4      LinkType = 228 // raw IPv4 only
	LinkIPv6      LinkType = 229 // raw IPv6 only
	LinkLinuxSLL2 LinkType = 276 // Linux "cooked" capture v2, 20-byte header
)

// Supported reports whether Decode understands the link type.
func (t LinkType) Supported() bool {
	switch t {
	case LinkNull, LinkEthernet, LinkRawDLT12, LinkRawDLT14, LinkRaw, LinkLoop,
		LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2:
		return true
	}
	return false
}

// linkTypeNames are the LINKTYPE_ names (without the prefix) of the types
// users are likely to meet, so an error can say "105 (IEEE802_11)" rather
// than a bare number.
var linkTypeNames = map[LinkType]string{
	0: "NULL", 1: "ETHERNET", 3: "AX25", 6: "IEEE802_5", 7: "ARCNET_BSD", 8: "SLIP",
	9: "PPP", 10: "FDDI", 12: "RAW", 14: "RAW", 50: "PPP_HDLC", 51: "PPP_ETHER",
	100: "ATM_RFC1483", 101: "RAW", 104: "C_HDLC", 105: "IEEE802_11", 107: "FRELAY",
	108: "LOOP", 113: "LINUX_SLL", 114: "LTALK", 117: "PFLOG", 119: "IEEE802_11_PRISM",
	122: "IP_OVER_FC", 123: "SUNATM", 127: "IEEE802_11_RADIOTAP", 129: "ARCNET_LINUX",
	138: "APPLE_IP_OVER_IEEE1394", 139: "MTP2_WITH_PHDR", 140: "MTP2", 141: "MTP3",
	142: "SCCP", 143: "DOCSIS", 144: "LINUX_IRDA", 147: "USER0", 163: "IEEE802_11_AVS",
	165: "BACNET_MS_TP", 166: "PPP_PPPD", 169: "GPRS_LLC", 177: "LINUX_LAPD",
	187: "BLUETOOTH_HCI_H4", 189: "USB_LINUX", 192: "PPI", 195: "IEEE802_15_4_WITHFCS",
	196: "SITA", 197: "ERF", 201: "BLUETOOTH_HCI_H4_WITH_PHDR", 202: "AX25_KISS",
	203: "LAPD", 204: "PPP_WITH_DIR", 209: "IPMB_LINUX", 215: "IEEE802_15_4_NONASK_PHY",
	220: "USB_LINUX_MMAPPED", 224: "FC_2", 227: "CAN_SOCKETCAN", 228: "IPV4", 229: "IPV6",
	230: "IEEE802_15_4_NOFCS", 231: "DBUS", 235: "DVB_CI", 239: "NFLOG", 240: "NETANALYZER",
	247: "IPNET", 249: "USBPCAP", 251: "BLUETOOTH_LE_LL", 252: "WIRESHARK_UPPER_PDU",
	253: "NETLINK", 254: "BLUETOOTH_LINUX_MONITOR", 256: "BLUETOOTH_LE_LL_WITH_PHDR",
	263: "NORDIC_BLE", 266: "NETANALYZER_TRANSPARENT", 276: "LINUX_SLL2",
}

// String gives the number and, when known, the LINKTYPE_ name: "105 (IEEE802_11)".
func (t LinkType) String() string {
	if name, ok := linkTypeNames[t]; ok {
		return fmt.Sprintf("%d (%s)", uint16(t), name)
	}
	return fmt.Sprintf("%d", uint16(t))
}

// unsupportedLinkError is the message for a link type Decode cannot read.
func unsupportedLinkError(t LinkType, iface int) error {
	return fmt.Errorf("unsupported link type %s on interface %d; tcptrace reads Ethernet, Linux SLL/SLL2, raw IP and BSD loopback", t, iface)
}
